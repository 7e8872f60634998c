# Headless twin of tilde_client_tk.py (seed 002's tkinter client of the tilde chat), for tests without a
# display. The network code is seed 002's, unchanged: connect(), send_message() and
# listen_for_messages_from_server() keep the seed's logic line for line. Only the GUI is replaced:
#   - the username is the first stdin line (the seed reads it from an Entry box when "connect" is clicked);
#   - each later stdin line is one message (the seed reads the message Entry box when "Send" is clicked);
#   - add_message() prints the line (the seed appends it to a ScrolledText);
#   - messagebox.showerror() prints the error text (the seed opens an error box).
# Lines that differ from the seed carry a `# chatkit:` comment. Every wire behaviour and every bug is
# kept on purpose. See README.md for the known defects (D-TC-*).
#Import Modules
import socket
import threading
import os
import sys
#Host & Port
HOST = '127.0.0.1'
if len(sys.argv) > 1: HOST = sys.argv[1]  # chatkit: host/port override
print(HOST)
# set to ip adderes of target computer
PORT = 9999
if len(sys.argv) > 2: PORT = int(sys.argv[2])  # chatkit: host/port override
# Creating a socket object
# AF_INET: we are going to use IPv4 addresses
# SOCK_STREAM: we are using TCP packets for communication
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

class messagebox:  # chatkit: headless stand-in for tkinter.messagebox
    @staticmethod  # chatkit: headless
    def showerror(title, message):  # chatkit: headless
        print(message)  # chatkit: headless: print the error text instead of an error box

#Connect Server#
def connect(username):  # chatkit: headless: the username comes from stdin, not username_textbox.get()
    # try except block
    try:
        # Connect to the server
        client.connect((HOST, PORT))
        print("Successfully connected to server")
        add_message("[SERVER] Successfully connected to the server")
    except:
        messagebox.showerror("Unable to connect to server", f"Unable to connect to server {HOST} {PORT}")
    if username != '':
        client.sendall(username.encode())
    else:
        messagebox.showerror("Invalid username", "Username cannot be empty")
    threading.Thread(target=listen_for_messages_from_server, args=(client, )).start()
#ADD MESSAGE
def add_message(message):
    print(message)  # chatkit: headless: print instead of inserting into the message box
#Send Message
def send_message(message):  # chatkit: headless: the message comes from stdin, not message_textbox.get()
    if message != '':
        client.sendall(message.encode())
    else:
        messagebox.showerror("Empty message", "Message cannot be empty")
#====================================#
# The incomming message is encoded in utf-8 , which we need to decode to print
def listen_for_messages_from_server(client):
    while 1:
        message = client.recv(2048).decode('utf-8')
        if message != '':
            username = message.split("~")[0]
            content = message.split('~')[1]
            add_message(f"[{username}] {content}")
        else:
            messagebox.showerror("Error", "Message recevied from client is empty")
#Main
def main():
    # chatkit: headless: stdin replaces the two Entry boxes and their buttons; at the end of stdin the
    # client stops sending and keeps listening, as the seed's window stays open.
    try:  # chatkit: headless
        connect(input())  # chatkit: headless: first line = username, then "connect"
        while True:  # chatkit: headless
            send_message(input())  # chatkit: headless: one line = one "Send"
    except EOFError:  # chatkit: headless
        pass  # chatkit: headless
if __name__ == '__main__':
    main()
