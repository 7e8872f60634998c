# Seed 003 variant ("Hii" prompt, port 11826) of seed 004's Client.py. Seed 003 gives this program only
# in prose; the code is seed 004's with the prompt token 'Hii' and port 11826, nothing else changed.
# OCR fixes as in nick_client.py; every wire behaviour and every bug is kept on purpose.
# See README.md in this directory for the known defects (D-NC-*, shared with nick_client.py).
import socket
import threading
import sys  # chatkit: host/port override

HOST, PORT = '127.0.0.1', 11826  # chatkit: host/port override
if len(sys.argv) > 1: HOST = sys.argv[1]  # chatkit: host/port override
if len(sys.argv) > 2: PORT = int(sys.argv[2])  # chatkit: host/port override

# Choosing Nickname
nickname = input("\33[32m \tChoose your Nickname : \33[0m")

# Connecting To Server
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect((HOST, PORT))  # chatkit: host/port override (seed: ('127.0.0.1', 11826))

# Listening to Server and Sending Nickname
def receive():
    while True:
        try:
            # Receive Message From Server
            # If 'Hii' Send Nickname
            message = client.recv(1024).decode('ascii')
            if message == 'Hii':
                client.send(nickname.encode('ascii'))
            else:
                print(message)
        except:
            # Close Connection When Error
            print("An error occured!")
            client.close()
            break

# Sending Messages To Server
def write():
    while True:
        message = '{}: {}'.format(nickname, input(''))
        client.send(message.encode('ascii'))

# Starting Threads For Listening And Writing
receive_thread = threading.Thread(target=receive)
receive_thread.start()
write_thread = threading.Thread(target=write)
write_thread.start()
